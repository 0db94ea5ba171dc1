"""`logs_quarantine`: one row per record that is not in `logs` (with the reason its token failed), and per
malformed element of a poll (with the reason it was rejected).
"""

import pyarrow as pa

from settings import Settings
from transforms import log_decryption as decryption


def model(dbt, session):
    keys = Settings.current().fernet_keys
    tokens = dbt.ref("stg_log_api__logs").sql_query()
    decrypted = dbt.ref("logs").sql_query()
    rejected = dbt.ref("stg_log_api__logs_rejected").sql_query()
    failed = session.sql(
        f"""
        select record_id, token, load_id
        from ({tokens}) as tokens
        where record_id not in (select record_id from ({decrypted}) as decrypted)
        qualify row_number() over (partition by record_id order by load_id) = 1
        """
    ).arrow()
    if isinstance(failed, pa.RecordBatchReader):
        failed = failed.read_all()
    results = decryption.decrypt_batches(failed.to_batches(decryption.BATCH_ROWS), keys, failed.num_rows)
    reasons = [
        reason or "decrypts now: run the logs model" for batch in results for reason in batch["reason"].to_pylist()
    ]
    undecrypted = pa.table(
        {
            "record_id": failed["record_id"],
            "data": failed["token"],
            "reason": pa.array(reasons, type=pa.string()),
            "_dlt_load_id": failed["load_id"],
        }
    )
    malformed = session.sql(
        f"""
        select
            try(json_extract_string(record_json, '$.recordId')) as record_id,
            record_json as data,
            'malformed: ' || reason as reason,
            load_id as _dlt_load_id
        from ({rejected}) as rejected
        order by load_id, rejected_id
        """
    ).arrow()
    if isinstance(malformed, pa.RecordBatchReader):
        malformed = malformed.read_all()
    return pa.concat_tables([undecrypted, malformed.cast(undecrypted.schema)])
