"""Lambda functions that the emulator tests deploy: each module is zipped by name (``tests.support.emulator.zip_sources``)."""
