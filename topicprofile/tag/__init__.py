"""Tags: per-customer aggregation, interest tags, explanations, the output table."""
