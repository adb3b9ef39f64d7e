"""Advantage estimators: pure, vectorised torch functions with verl's estimator signature."""
