"""Hypothesis fuzzing of the decoder, message handlers, signatures, queries and framing."""
