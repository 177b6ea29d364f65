"""Point-in-time correct training sets over the offline Parquet history (DuckDB).

    features   which views/columns/ODFVs a request needs (`select_features`)
    spine      entity rows: given (DataFrame/Arrow/JSON/Parquet/CSV) or built from the data
    entity_columns   JSON entity columns as Arrow (mixed key values read as the declared type)
    plan       the join as SQL: ASOF or range, chosen by spine size and TTLs
    engine     runs the join, applies ODFVs per batch, streams to Parquet (`retrieve`)
    snapshot   the exact files read and their fingerprint
    manifest   what makes a training set reproducible; re-running one
    jobs       background jobs on disk (any API replica can read them; the CLI records its sets)
    export     a finished set as CSV or JSON (downloads and the CLI's --out)
    registry_of_sets   which training sets used which features
"""
