"""How records come into the CRM from outside: web-to-lead form responses (`forms`), imports of
other tools' exports (`importer`); both ask `crm.matching` whether a person is already here.
Each module is one concept; `settings` holds the [forms] section."""
