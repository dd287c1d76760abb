"""From profiles to actions: churn risk and lifetime value, campaign A/B evaluation, recommendations.

* :mod:`~topicprofile.actions.clv`: BG/NBD + Gamma-Gamma by maximum likelihood; ``clv_columns``.
* :mod:`~topicprofile.actions.campaign`: ``assign_holdout``, ``evaluate_campaign``.
* :mod:`~topicprofile.actions.recommend`: ``HybridRecommender``, ``item_lines``;
  :mod:`~topicprofile.actions.recommend_eval`: ``evaluate_recommenders``.

The file-level jobs behind the ``recommend`` and ``campaign`` commands are in :mod:`topicprofile.app.actions`.
"""

from topicprofile.actions.campaign import assign_holdout, evaluate_campaign
from topicprofile.actions.clv import BetaGeoModel, GammaGammaModel, clv_columns, clv_summary
from topicprofile.actions.recommend import HybridRecommender, item_lines
from topicprofile.actions.recommend_eval import evaluate_recommenders

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "HybridRecommender",
    "assign_holdout",
    "clv_columns",
    "clv_summary",
    "evaluate_campaign",
    "evaluate_recommenders",
    "item_lines",
]
