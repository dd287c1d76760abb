"""Privacy stage: scrub personal data from texts, pseudonymous customer ids."""
