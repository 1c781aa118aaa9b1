"""Support triage: intent classification of ticket texts, encoders, rules and service."""
