"""How records come into the CRM from outside: web-to-lead form responses (`forms`), imports of
other tools' exports (`importer`), and the one rule both use for "this person is already here"
(`matching`). Each module is one concept; `settings` holds the [forms] section."""
