"""Camera drivers: one small interface, one module per vendor SDK; the simulator is one driver among others."""
