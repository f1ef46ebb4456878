-- AlterEnum
ALTER TYPE "AccountEventType" ADD VALUE 'registration_collision';
