"""From profiles to actions: churn risk and lifetime value, campaign A/B evaluation, recommendations."""
