"""fakeforge package."""
