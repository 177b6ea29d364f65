"""The catalog: an index of every Feast definition, ranked search, statistics and lineage.

`index` compiles a `Definitions` snapshot into documents; `search` ranks them by text relevance
combined with usage (`usage`), freshness and health; `stats` and `freshness` read the offline
Parquet history through DuckDB; `lineage` relates sources, views, services and consumers;
`service` ties these together for the HTTP routes and the web UI.
"""
