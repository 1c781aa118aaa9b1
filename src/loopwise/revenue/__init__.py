"""Revenue: billing data (customers, subscriptions, invoices, payments, refunds, credit
notes) brought in from billing systems, starting with Stripe webhooks, kept as canonical
tables that the revenue metrics are computed from. It does not own persons (the identity
service does) nor product events."""
