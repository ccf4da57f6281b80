"""Core value types shared by every layer: frames, framesets, time units and errors."""
