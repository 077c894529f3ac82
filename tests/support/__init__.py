"""Real parts the tests run against: throwaway PostgreSQL clusters, servers on loopback."""
