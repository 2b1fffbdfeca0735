/**
 * The message catalogues (en.ts, zh-CN.ts) read through intl-messageformat: ICU MessageFormat with
 * arguments, plurals and numbers in the reader's locale. Each message is compiled the first time
 * it is used in a language and kept, so a request formats a compiled message and never parses one.
 *
 * A detail is carried as a `Message` (key and arguments), not as text: it is written in the
 * language of the request that reads it, and a refusal stored for an idempotent replay (plain
 * JSON) is answered in the replay's language. The arguments a key takes are read from its English
 * texts at compile time, so `message('contract.version_exists', {})` without `version` does not
 * compile; a test checks that both languages use the same arguments (a `Zh` name pairing with its
 * English one).
 */
import { IntlMessageFormat } from 'intl-messageformat';
import type { Language } from '../language.js';
import { problemDetailsEn, problemTitlesEn } from './en.js';
import { problemDetailsZh, problemTitlesZh } from './zh-CN.js';

export type TitleCode = keyof typeof problemTitlesEn;
export type DetailKey = keyof typeof problemDetailsEn;

/**
 * The argument names of an ICU message, read at compile time: a small parser over the text, one
 * character at a time, with a stack of states — `t` in text (where `{` starts an argument), `o`
 * among the options of a plural or select (where `{` starts a branch, itself text). `{count,
 * plural, one {# try} other {# tries}}` takes `count`; the words in its branches are not arguments.
 */
type ArgumentNames<Text extends string> = Parse<Text, ['t'], never>;
type State = 't' | 'o';
type Parse<Text extends string, Stack extends State[], Found extends string> = Text extends `${infer Char}${infer Rest}`
  ? Stack extends [...infer Outer extends State[], infer Top]
    ? Char extends '{'
      ? Top extends 't'
        ? ReadArgument<Rest, Stack, Found>
        : Parse<Rest, [...Stack, 't'], Found>
      : Char extends '}'
        ? Parse<Rest, Outer, Found>
        : Parse<Rest, Stack, Found>
    : Found
  : Found;
type ReadArgument<
  Text extends string,
  Stack extends State[],
  Found extends string,
> = Text extends `${infer Head}}${infer After}`
  ? Head extends `${infer Name},${infer Kind},${infer Options}`
    ? Trimmed<Kind> extends 'plural' | 'select' | 'selectordinal'
      ? Parse<`${Options}}${After}`, [...Stack, 'o'], Found | Trimmed<Name>>
      : Parse<After, Stack, Found | Trimmed<Name>>
    : Head extends `${infer Name},${string}`
      ? Parse<After, Stack, Found | Trimmed<Name>>
      : Parse<After, Stack, Found | Trimmed<Head>>
  : Found;
type Trimmed<Text extends string> = Text extends ` ${infer Inner}`
  ? Trimmed<Inner>
  : Text extends `${infer Inner} `
    ? Trimmed<Inner>
    : Text;

export type MessageValue = string | number;
/**
 * The arguments of `Key` in either language. A name a language writes in its own words ends in
 * `Zh` in the Chinese text (`{itemNameZh}` beside the English `{itemName}`); both are passed.
 */
type KeyArguments<Key extends DetailKey> =
  | ArgumentNames<(typeof problemDetailsEn)[Key]>
  | ArgumentNames<(typeof problemDetailsZh)[Key]>;
export type MessageArguments<Key extends DetailKey> = Readonly<Record<KeyArguments<Key>, MessageValue>>;

/** A detail to be written in the reader's language: a catalogue key and its arguments (plain JSON). */
export interface Message {
  readonly key: DetailKey;
  readonly args?: Readonly<Record<string, MessageValue>>;
}

/** The detail `key` with its arguments; a key that takes arguments cannot be called without them. */
export function message<Key extends DetailKey>(
  key: Key,
  ...args: [KeyArguments<Key>] extends [never] ? [] : [MessageArguments<Key>]
): Message {
  return args[0] === undefined ? { key } : { key, args: args[0] };
}

export function isMessage(value: unknown): value is Message {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { key?: unknown }).key === 'string' &&
    Object.hasOwn(problemDetailsEn, (value as { key: string }).key)
  );
}

const titles: Readonly<Record<Language, Readonly<Record<TitleCode, string>>>> = {
  'zh-CN': problemTitlesZh,
  en: problemTitlesEn,
};
const details: Readonly<Record<Language, Readonly<Record<DetailKey, string>>>> = {
  'zh-CN': problemDetailsZh,
  en: problemDetailsEn,
};

/** Compiled messages by language and key: each compiled once, on first use. */
const compiled: Record<Language, Map<DetailKey, IntlMessageFormat>> = { 'zh-CN': new Map(), en: new Map() };

/** The compiled form of `key` in `language` (the same object on every call). */
export function compiledMessage(key: DetailKey, language: Language): IntlMessageFormat {
  const cache = compiled[language];
  let format = cache.get(key);
  if (format === undefined) {
    format = new IntlMessageFormat(details[language][key], language);
    cache.set(key, format);
  }
  return format;
}

/** `text` in `language`. A missing argument is a programming error and throws (tests catch it). */
export function formatMessage(text: Message, language: Language): string {
  const formatted = compiledMessage(text.key, language).format<string>(text.args);
  return Array.isArray(formatted) ? formatted.join('') : String(formatted);
}

/** The problem title of `code` in `language` (fixed text, so not compiled). */
export function titleIn(code: TitleCode, language: Language): string {
  return titles[language][code];
}

/** Every catalogue, for the tests that compare the languages. */
export const catalogues = { titles, details } as const;
