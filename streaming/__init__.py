"""The stream processor: Kafka topics → contract checks → Redis online and Parquet offline.

Pure core (`schema`, `plan`, `decode`, `contract`, `transform`, `core`) turns raw messages into
typed tables and rejects; a thin I/O shell (`sinks/*`, `consumer`, `processor`) writes them and
commits offsets only after every write of the batch succeeded.
"""
