"""What the tests share: tiny recipes (recipes.py), a one-step runner and the mirrored-equals-
single check (steps.py), fresh interpreters and plain-TF SavedModel loading (processes.py),
TensorBoard events and made-up image folders (files.py). conftest.py keeps the fixtures."""
