"""Coverage and confidence: how much of each agent's work was reviewed, and how sure their score is."""
