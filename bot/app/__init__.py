"""The application shell: settings, wiring (the one place that builds the parts), and the `tutor`
command line with the bots' process lifecycle."""
