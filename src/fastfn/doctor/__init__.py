"""Diagnoses for the failure modes the seeds hit."""
