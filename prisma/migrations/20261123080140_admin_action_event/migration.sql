-- AlterEnum
ALTER TYPE "AccountEventType" ADD VALUE 'admin_action';
