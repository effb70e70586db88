/** Where a command writes, and whether a person is watching (progress, confirmation). */
export interface CommandIo {
  /** One line on stdout (results). */
  out(line: string): void;
  /** One line on stderr (messages for people). */
  err(line: string): void;
  /** Redraws a one-line status on stderr; present only when stderr is a terminal. */
  progress: ((text: string) => void) | undefined;
  /** stdin is a terminal: a person can answer a question. */
  interactive: boolean;
  /** Asks on stderr, reads one line from stdin. */
  ask(question: string): Promise<string>;
}

export function processIo(): CommandIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: process.stderr.isTTY ? (text) => process.stderr.write(`\r\x1b[K${text}`) : undefined,
    interactive: process.stdin.isTTY === true,
    ask: async (question) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}
