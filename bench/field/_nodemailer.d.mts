/** Runs one benchmark mode with the given nodemailer module. */
export function main(nodemailer: unknown, args: unknown): Promise<void>;
