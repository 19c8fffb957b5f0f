"""Drivers that feed the one kernel: live (asyncio, wall clock) and replay (simulated clock)."""
