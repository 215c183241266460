"""Kernels: numpy/scipy functions on arrays (cross-correlation, the surrogate null and its
tails, event-study responses, spikes, transforms). They never see files or the store."""
