"""The bottom layer, below forecasting, retrieval and prompts: what the leaves and agent all need —
store connections that wait for a busy file, process pools whose workers die with their parent."""
