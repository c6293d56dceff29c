"""The scan flow: a request, its setup and assembly, the one stage loop, its budget."""
