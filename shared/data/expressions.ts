/**
 * DynamoDB update and condition expressions, built from attribute names and
 * values so that no caller spells `#name` / `:value` placeholders by hand
 * and every name is escaped (many attribute names are reserved words).
 * Hand-written: the DocumentClient takes expressions as strings, and the
 * libraries that build them (ElectroDB, dynamodb-toolbox) bring a whole
 * entity model with them.
 */
type Values = Record<string, unknown>;

export interface ExpressionInput {
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Values;
}

export class Expression {
  private readonly names: Record<string, string> = {};
  private readonly values: Values = {};
  private readonly sets: string[] = [];
  private readonly adds: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];

  /** `#n` for an attribute name, registered once. */
  name(attribute: string): string {
    const existing = Object.entries(this.names).find(([, name]) => name === attribute);
    if (existing) return existing[0];
    const placeholder = `#n${Object.keys(this.names).length}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  /** `:v` for a value. */
  value(value: unknown): string {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** SET each attribute; an undefined value REMOVEs it instead. */
  set(attributes: Values): this {
    for (const [attribute, value] of Object.entries(attributes)) {
      if (value === undefined) this.removes.push(this.name(attribute));
      else this.sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    }
    return this;
  }

  /** SET each attribute only where the item does not have it yet. */
  setIfMissing(attributes: Values): this {
    for (const [attribute, value] of Object.entries(attributes)) {
      const name = this.name(attribute);
      this.sets.push(`${name} = if_not_exists(${name}, ${this.value(value)})`);
    }
    return this;
  }

  add(attribute: string, amount: number): this {
    this.adds.push(`${this.name(attribute)} ${this.value(amount)}`);
    return this;
  }

  remove(...attributes: string[]): this {
    this.removes.push(...attributes.map((attribute) => this.name(attribute)));
    return this;
  }

  /** A condition the write must meet; several are joined with AND. */
  ifExists(attribute: string): this {
    this.conditions.push(`attribute_exists(${this.name(attribute)})`);
    return this;
  }

  ifNotExists(attribute: string): this {
    this.conditions.push(`attribute_not_exists(${this.name(attribute)})`);
    return this;
  }

  ifEquals(attribute: string, value: unknown): this {
    this.conditions.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  /** A condition of any shape (OR, parentheses), written with this expression's name() and value() placeholders. */
  where(condition: (e: this) => string): this {
    this.conditions.push(`(${condition(this)})`);
    return this;
  }

  /** The input fields of an UpdateItem, PutItem or DeleteItem command. */
  build(): ExpressionInput {
    const clauses = [
      this.sets.length ? `SET ${this.sets.join(', ')}` : '',
      this.adds.length ? `ADD ${this.adds.join(', ')}` : '',
      this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '',
    ].filter(Boolean);
    return {
      ...(clauses.length && { UpdateExpression: clauses.join(' ') }),
      ...(this.conditions.length && { ConditionExpression: this.conditions.join(' AND ') }),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length && { ExpressionAttributeValues: this.values }),
    };
  }
}

export const expression = () => new Expression();
