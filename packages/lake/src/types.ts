/** A structured logger; packages take one and never call `console`. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A logger that drops everything (the default in libraries and tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Column types the lake writes to Parquet. */
export type ColumnType =
  'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'DATE' | 'TIMESTAMP';

/** One column of a lake table. */
export interface Column {
  name: string;
  type: ColumnType;
  /** What the column holds, for the data dictionary of releases. */
  description: string;
}

/** A table of the lake: its name, its key and its columns. */
export interface TableSchema {
  name: TableName;
  /** Columns that identify a row across batches. */
  key: readonly string[];
  columns: readonly Column[];
}

export type TableName =
  | 'patients'
  | 'studies'
  | 'series'
  | 'instances'
  | 'predictions'
  | 'attributes';

/** A row as written: values by column name; missing ones are NULL. */
export type Row = Readonly<Record<string, string | number | null | undefined>>;
