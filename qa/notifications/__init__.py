"""In-app notifications: a new review, a dispute and its outcome, a coaching session, a goal due."""
