"""Deploy pipeline: models -> build -> plan -> execute -> recorded state."""
