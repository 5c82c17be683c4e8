console.error("dsnot: the command line is not built yet"); process.exit(2);
