"""Byte-exact encoders and decoders for Feast's Redis layout (DESIGN.md §1).

Written by hand instead of building protobuf objects per value because materialization and
lookups touch millions of values: a column is encoded in one vectorized pass, and the hot read
path decodes the scalar wire forms directly. Anything unusual falls back to Feast's own protos.
"""
