"""The profile database's tables (DuckDB DDL), defined once.

``profiles``     one row per customer: every output column of ``tag``, typed (tags and keywords as
                 ``VARCHAR[]``, scores as ``MAP(VARCHAR, DOUBLE)``, topic shares as ``DOUBLE[]``;
                 churn and value ``p_alive``, ``expected_orders_90d``, ``clv_12m``, ``churn_risk``,
                 NULL when the run had no orders). ``change_key`` fingerprints what an audience
                 sees (tags, top interest, RFM and fused segment, churn flag); ``changed_run`` is
                 the run that last changed it (deltas use it).
``tag_history``  one row per customer and tag each time the customer's tags changed.
``recommendations`` each customer's current top items from ``recommend --db`` (rank, item, its
                 kind, score, reason, run, as-of time); a run replaces the rows of the customers
                 it covers.
``identifiers``  e-mail, phone, names and consent flags from the shop's customer export, kept apart
                 from the profiles so that profiles can be shared without personal data.
``runs``         each write: when, which model (manifest), which inputs (fingerprints), counts; a
                 ``recommend`` run says so in ``inputs`` (``"command": "recommend"``).
``exports``      each audience export: name, destination, filter, rows, and the last run it saw.
``audience_holdouts`` the treated and control customers of each export made with ``--holdout``
                 (``campaign --audience`` reads them); made on first use before version 2.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

TABLES = (
    "meta", "runs", "profiles", "tag_history", "identifiers", "exports", "recommendations", "audience_holdouts",
)  # fmt: skip
#: Tables a version added: an export of an older version has no file for them.
TABLE_SINCE = {"recommendations": 2, "audience_holdouts": 2}
#: Tables with a row per customer (``customer_id``): what ``forget`` deletes and ``privacy-report`` lists.
CUSTOMER_TABLES = ("profiles", "tag_history", "identifiers", "recommendations", "audience_holdouts")

DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id BIGINT PRIMARY KEY,
        started_at TIMESTAMP,
        model_version VARCHAR,
        model_manifest VARCHAR,  -- JSON text
        inputs VARCHAR,          -- JSON text: file names, fingerprints, row counts
        n_rows BIGINT,
        n_new BIGINT,
        n_changed BIGINT)""",
    # No PRIMARY KEY: DuckDB's index made replacing 200,000 rows commit in minutes; the upsert keeps
    # ids unique itself (one row per id in a batch, the batch's ids deleted first, one writer).
    """CREATE TABLE IF NOT EXISTS profiles (
        customer_id VARCHAR NOT NULL,
        top_interest VARCHAR,
        top_score DOUBLE,
        interest_tags VARCHAR[],
        interest_scores MAP(VARCHAR, DOUBLE),
        interest_topics INTEGER[],
        topic_shares DOUBLE[],
        n_documents INTEGER,
        n_tokens INTEGER,
        keywords VARCHAR[],
        recency_days DOUBLE,
        frequency DOUBLE,
        monetary DOUBLE,
        avg_order_value DOUBLE,
        r_score INTEGER,
        f_score INTEGER,
        m_score INTEGER,
        rfm_segment VARCHAR,
        segment_id INTEGER,
        segment_name VARCHAR,
        last_seen TIMESTAMP,
        model_version VARCHAR,
        change_key VARCHAR,
        changed_run BIGINT,
        -- version 2 (appended: a migrated version-1 table gets them at the end too)
        p_alive DOUBLE,
        expected_orders_90d DOUBLE,
        clv_12m DOUBLE,
        churn_risk BOOLEAN)""",
    """CREATE TABLE IF NOT EXISTS tag_history (
        customer_id VARCHAR,
        run_id BIGINT,
        topic_id INTEGER,
        label VARCHAR,
        score DOUBLE,
        model_version VARCHAR,
        as_of TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS identifiers (
        customer_id VARCHAR PRIMARY KEY,
        email VARCHAR,
        phone VARCHAR,           -- E.164
        first_name VARCHAR,
        last_name VARCHAR,
        accepts_email BOOLEAN,
        accepts_sms BOOLEAN,
        updated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS exports (
        export_id BIGINT PRIMARY KEY,
        name VARCHAR,
        destination VARCHAR,
        filter VARCHAR,
        exported_at TIMESTAMP,
        last_run BIGINT,
        n_rows BIGINT,
        n_skipped BIGINT)""",
    # No PRIMARY KEY either (see profiles): a run deletes its customers' rows and inserts theirs.
    """CREATE TABLE IF NOT EXISTS recommendations (
        customer_id VARCHAR NOT NULL,
        rank INTEGER,
        item VARCHAR,
        item_kind VARCHAR,       -- 'product' | 'category'
        score DOUBLE,
        reason VARCHAR,
        run_id BIGINT,
        as_of TIMESTAMP)""",
    # Version 1 made it on the first `audience --holdout`, with these columns.
    """CREATE TABLE IF NOT EXISTS audience_holdouts (
        export_id INTEGER,
        customer_id VARCHAR,
        grp VARCHAR,             -- 'treated' | 'control'
        stratum VARCHAR,
        fraction DOUBLE,
        seed BIGINT)""",
)

#: Statements that bring a file of version ``v`` to ``v + 1`` (run in one transaction, then the
#: ``DDL``, which creates the tables a version added).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE profiles ADD COLUMN p_alive DOUBLE",
        "ALTER TABLE profiles ADD COLUMN expected_orders_90d DOUBLE",
        "ALTER TABLE profiles ADD COLUMN clv_12m DOUBLE",
        "ALTER TABLE profiles ADD COLUMN churn_risk BOOLEAN",
    ),
}

#: Profile columns written by an upsert (everything but the key), in table order.
PROFILE_FIELDS = (
    "top_interest", "top_score", "interest_tags", "interest_scores", "interest_topics", "topic_shares",
    "n_documents", "n_tokens", "keywords", "recency_days", "frequency", "monetary", "avg_order_value",
    "r_score", "f_score", "m_score", "rfm_segment", "segment_id", "segment_name", "last_seen",
    "model_version", "change_key", "changed_run", "p_alive", "expected_orders_90d", "clv_12m", "churn_risk",
)  # fmt: skip
#: Churn and lifetime-value columns (``tag --orders``; :mod:`topicprofile.actions.clv`).
CHURN_FIELDS = ("p_alive", "expected_orders_90d", "clv_12m", "churn_risk")
RECOMMENDATION_FIELDS = ("customer_id", "rank", "item", "item_kind", "score", "reason", "run_id", "as_of")
ITEM_KINDS = ("product", "category")
IDENTIFIER_FIELDS = ("email", "phone", "first_name", "last_name", "accepts_email", "accepts_sms")
