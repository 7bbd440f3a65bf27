"""Pages for people, served by the API server under /ui: integrations catalog, setup wizards, sign-in, Jira OAuth."""
