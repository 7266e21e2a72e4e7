// Package archtest holds no code: its test reads the import statements of
// every package of the module and checks them against the layering rules of
// docs/architecture.md, whose package table it keeps equal to the code.
package archtest
