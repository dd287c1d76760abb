"""File-level jobs over the profiler: fit/tag files, batch folders, evaluation, the sample shop."""
