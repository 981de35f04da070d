// The package's version, as reports and the command line state it (a test keeps it equal
// to package.json's).
export const VERSION = "0.1.0";
