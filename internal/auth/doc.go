// Package auth hashes passwords and issues and verifies access tokens.
//
// It also holds the small pieces of policy that sit next to those jobs:
// username, email and password rules, the attempt limiters (in memory, or
// in counters every process shares through the database) and the
// on-disk JWT secret used by the embedded-SQLite setup.
package auth
