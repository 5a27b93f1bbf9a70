"""The reorder recommender: what a shopper is due to buy again, learned from the shop's purchase histories."""
