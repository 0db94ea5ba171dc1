"""`logs`: one row per record whose token decrypted; incremental over records not yet in it.

Records that fail stay out and are retried on every run (so adding the right key to FERNET_KEY
brings them in); `logs_quarantine` lists them with the reason. The work is in
`transforms.log_decryption`.
"""

from settings import Settings
from transforms import log_decryption as decryption


def model(dbt, session):
    keys = Settings.from_env().fernet_keys
    pending = dbt.ref("stg_log_api__logs").select("record_id, token, load_id")
    if dbt.is_incremental:
        pending = pending.filter(f"record_id not in (select record_id from {dbt.this})")
    pending = pending.order("load_id, record_id")
    rows = pending.aggregate("count(*)").fetchone()[0]
    # A cursor of its own: dbt writes the result on `session` while this streams the input.
    reader = session.cursor().sql(pending.sql_query()).fetch_record_batch(decryption.BATCH_ROWS)
    return decryption.first_decrypted(decryption.decrypt_batches(reader, keys, rows))
