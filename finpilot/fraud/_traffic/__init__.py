"""Live traffic: the synthetic payment generator, CSV-sourced payments and the HTTP sender."""
