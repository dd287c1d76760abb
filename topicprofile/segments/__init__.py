"""Segments: fusion of topic shares with RFM, clustering, segment cards."""
