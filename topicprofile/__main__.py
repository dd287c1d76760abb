"""``python -m topicprofile`` runs the command line."""

from topicprofile.cli import main

main()
