"""Reviews: the reviewer's queue, the review form, agents' feedback and the managers' list."""
