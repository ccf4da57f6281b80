"""Frameset matching across streams on rig time (pure)."""

from rigsync.align.aligner import Aligner
from rigsync.align.types import AlignerConfig, AlignerStats, AlignStream, Entry, Frameset, StreamStats

__all__ = ["AlignStream", "Aligner", "AlignerConfig", "AlignerStats", "Entry", "Frameset", "StreamStats"]
