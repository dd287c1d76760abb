"""Privacy steps of the file-level jobs (issue 14): pseudonymous ids on loaded inputs, the id key a
model needs, and the ``privacy`` record of a run (manifest and run summary)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from topicprofile.errors import ConfigError
from topicprofile.ingest.inputs import pseudonymized  # re-exported: the jobs' import
from topicprofile.privacy.names import names_record
from topicprofile.privacy.pseudonym import key_id, load_id_key

__all__ = ["model_id_key", "privacy_summary", "pseudonymized", "scrub_settings"]


def model_id_key(privacy: Mapping[str, Any], id_key: bytes | None) -> bytes | None:
    """The id key a run with a model uses: ``id_key``, or for a model fitted on pseudonymous ids the
    key from ``$TOPICPROFILE_ID_KEY``; it must be the model's key (its :func:`key_id` is in the manifest).

    Raises
    ------
    ConfigError
        The model needs a key and none is given, or the key given is not the model's.
    """
    wanted = privacy.get("id_key_id") if privacy.get("pseudonymized") else None
    if wanted is None:
        return id_key
    if id_key is None:
        try:
            id_key = load_id_key()
        except ConfigError as e:
            raise ConfigError(
                f"this model was fitted on pseudonymous ids: give its id key (--key-file) so that the new "
                f"ids match ({e})"
            ) from None
    if key_id(id_key) != wanted:
        raise ConfigError(
            f"the id key given (key id {key_id(id_key)}) is not the one this model was fitted with (key id "
            f"{wanted}); its outputs would not join. Give the model's key file."
        )
    return id_key


def scrub_settings(params: Mapping[str, Any], *, scrub: bool, scrub_names: str | None) -> dict[str, Any]:
    """The ``scrub``/``scrub_names`` parameters of a run with a saved model (``params``): names are
    scrubbed with ``scrub_names``, else with the model's own pipeline, unless ``scrub`` is False.

    Raises
    ------
    ConfigError
        ``scrub_names`` given with ``scrub`` False (--scrub-names-model with --no-scrub).
    """
    if scrub_names is not None and not scrub:
        raise ConfigError(
            "--scrub-names-model scrubs names on top of scrubbing: it cannot go with --no-scrub"
        )
    return {"scrub": scrub, "scrub_names": (scrub_names or params.get("scrub_names")) if scrub else None}


def privacy_summary(
    scrub: bool, scrub_counts: Mapping[str, int], id_key: bytes | None, *, scrub_names: str | None = None
) -> dict[str, Any]:
    """What a run did to personal data: the manifest's and the run summary's ``privacy`` record
    (with ``scrub_names``, the pipeline that found the names: :func:`~topicprofile.privacy.names.names_record`)."""
    names = names_record(scrub_names) if scrub and scrub_names else {}
    summary: dict[str, Any] = {"scrub": scrub, **names, "scrub_counts": dict(scrub_counts) if scrub else None,
                               "pseudonymized": id_key is not None}  # fmt: skip
    if id_key is not None:
        summary["id_key_id"] = key_id(id_key)
    return summary
