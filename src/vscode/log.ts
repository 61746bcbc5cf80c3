// The extension's one log sink: the "KV Explorer" output channel behind the core `Logger`.
// Every line is redacted against every secret the extension has seen, before it is written anywhere.
import * as vscode from 'vscode';
import { redactingLogger, type Logger, type LogLevel } from '../core/log';

/** How many redacted lines `recentLines()` keeps, for tests and diagnostics. */
const RECENT_LINE_LIMIT = 2000;

export class ExtensionLog implements Logger, vscode.Disposable {
  private readonly channel: vscode.LogOutputChannel;
  private readonly secrets = new Set<string>();
  private readonly recent: string[] = [];
  private readonly redacting: Logger;

  constructor(channel: vscode.LogOutputChannel = vscode.window.createOutputChannel('KV Explorer', { log: true })) {
    this.channel = channel;
    this.redacting = redactingLogger({ log: (level, message) => this.write(level, message) }, () => this.secrets);
  }

  /**
   * Registers a credential so that no later line can contain it. Call this before the credential is used
   * (for example before verifying a token that is not stored yet). Secrets are kept for the session even
   * after their connection is removed, because in-flight requests may still log.
   */
  addSecret(secret: string | undefined): void {
    if (secret) this.secrets.add(secret);
  }

  log(level: LogLevel, message: string): void {
    this.redacting.log(level, message);
  }

  /** The most recent lines exactly as they were written to the channel (already redacted). */
  recentLines(): readonly string[] {
    return this.recent;
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }

  private write(level: LogLevel, line: string): void {
    this.recent.push(`[${level}] ${line}`);
    if (this.recent.length > RECENT_LINE_LIMIT) this.recent.splice(0, this.recent.length - RECENT_LINE_LIMIT);
    switch (level) {
      case 'debug':
        this.channel.debug(line);
        break;
      case 'info':
        this.channel.info(line);
        break;
      case 'warn':
        this.channel.warn(line);
        break;
      case 'error':
        this.channel.error(line);
        break;
    }
  }
}
