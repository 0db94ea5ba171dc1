"""`logs`: one row per record whose token decrypted; incremental over records not yet in it.

Records that fail stay out and are retried on every run (so adding the right key to FERNET_KEY
brings them in); `logs_quarantine` lists them with the reason. The work is in
`transforms.log_decryption`.
"""

from runtime.progress import Progress
from settings import Settings
from transforms import log_decryption as decryption


def model(dbt, session):
    keys = Settings.current().fernet_keys
    pending = dbt.ref("stg_log_api__logs").select("record_id, token, load_id")
    if dbt.is_incremental:
        pending = pending.filter(f"record_id not in (select record_id from {dbt.this})")
    rows = pending.aggregate("count(*)").fetchone()[0]
    loads = [load_id for (load_id,) in pending.select("load_id").distinct().order("load_id").fetchall()]

    def batches():
        # Load by load, oldest first, so the first copy of a record kept is from its first load; within
        # a load in the table's own order: nothing is sorted, so memory does not grow with the rows.
        # A cursor of its own: dbt writes the result on `session` while this streams the input.
        for load_id in loads:
            cursor = session.cursor()
            cursor.execute(f"select * from ({pending.sql_query()}) as pending where load_id = ?", [load_id])
            yield from cursor.fetch_record_batch(decryption.BATCH_ROWS)

    progress = Progress("logs: decrypting", rows, unit="records")
    decrypted = progress.counted(decryption.decrypt_batches(batches(), keys, rows), lambda batch: batch.num_rows)
    return decryption.first_decrypted(decrypted)
